import { mutation } from "./_generated/server";

export const touch = mutation({
  args: {},
  handler: async (ctx) => await ctx.db.insert("other", { n: 1 }),
});
