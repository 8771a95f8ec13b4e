import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const store = mutation({
  args: { body: v.string() },
  handler: async (ctx, { body }) => await ctx.db.insert("blobs", { body }),
});

export const count = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("blobs").collect()).length,
});
