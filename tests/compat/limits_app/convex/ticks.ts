import { v } from "convex/values";
import { api } from "./_generated/api";
import { action, mutation, query } from "./_generated/server";

export const tick = mutation({
  args: { run: v.string() },
  handler: async (ctx, { run }) => {
    await ctx.db.insert("ticks", { run });
    return null;
  },
});

export const count = query({
  args: { run: v.string() },
  handler: async (ctx, { run }) =>
    (await ctx.db.query("ticks").withIndex("by_run", (q) => q.eq("run", run)).collect()).length,
});

// Writes a row every 100 ms until it is stopped: what a caller that went away leaves behind.
export const tickForever = action({
  args: { run: v.string() },
  handler: async (ctx, { run }) => {
    for (;;) {
      await ctx.runMutation(api.ticks.tick, { run });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  },
});
