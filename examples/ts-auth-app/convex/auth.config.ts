// Convex Auth issues the tokens itself: their issuer is this deployment's site URL, which
// serves the discovery document and keys (convex/http.ts) the deployment verifies them with.
export default {
  providers: [{ domain: process.env.CONVEX_SITE_URL, applicationID: "convex" }],
};
