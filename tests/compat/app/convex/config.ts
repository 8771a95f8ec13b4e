import { query } from "./_generated/server";

export const greeting = query({
  args: {},
  handler: async () => `hello ${process.env.GREETING_NAME ?? "nobody"}`,
});
