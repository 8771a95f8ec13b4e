export default {
  providers: [
    { domain: process.env.FIDELITY_ISSUER, applicationID: "convex" },
    {
      type: "customJwt",
      issuer: "https://jwt.fidelity.test",
      jwks: "https://jwt.fidelity.test/.well-known/jwks.json",
      algorithm: "RS256",
    },
  ],
};
