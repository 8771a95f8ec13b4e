export default {
  providers: [
    {
      domain: process.env.AUTH_DOMAIN ?? "https://example.invalid",
      applicationID: "convex",
    },
  ],
};
