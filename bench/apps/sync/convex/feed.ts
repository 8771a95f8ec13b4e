import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

// Fan-out: every session subscribes to this one query.
export const current = query({
  args: {},
  handler: async (ctx) => {
    const doc = await ctx.db.query("feed").order("desc").first();
    return doc === null ? null : doc.marker;
  },
});

export const bump = mutation({
  args: { marker: v.string() },
  handler: async (ctx, { marker }) => await ctx.db.insert("feed", { marker }),
});
