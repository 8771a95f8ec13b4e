// The tests start their own OIDC issuer and set these variables before deploying.
export default {
  providers: [
    { domain: process.env.TEST_OIDC_ISSUER!, applicationID: "convex" },
    {
      type: "customJwt",
      issuer: process.env.TEST_CUSTOM_ISSUER!,
      jwks: process.env.TEST_CUSTOM_JWKS!,
      algorithm: "ES256",
    },
  ],
};
