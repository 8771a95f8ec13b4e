import { query } from "./_generated/server";

// A module that takes a while to evaluate, like a large bundle on a busy machine: a few
// hundred milliseconds of work at the top level (the clock is frozen here, so it counts).
let checksum = 0;
for (let i = 0; i < 250_000_000; i++) checksum = (checksum * 31 + i) | 0;

export const quick = query({
  args: {},
  handler: async (ctx) => {
    await ctx.auth.getUserIdentity(); // a round trip to the host, where limits are checked
    return checksum === 0.5 ? "never" : "quick";
  },
});
