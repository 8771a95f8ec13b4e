import { Anonymous } from "@convex-dev/auth/providers/Anonymous";
import { Password } from "@convex-dev/auth/providers/Password";
import { convexAuth } from "@convex-dev/auth/server";

// Sign-in with an email and a password, or anonymously. Tokens last an hour unless
// JWT_DURATION_MS says otherwise (the clients refresh them before they expire).
export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [Password, Anonymous],
  jwt: process.env.JWT_DURATION_MS
    ? { durationMs: Number(process.env.JWT_DURATION_MS) }
    : undefined,
});
