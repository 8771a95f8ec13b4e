import { v } from "convex/values";
import { action, mutation, query } from "./_generated/server";

// A component's own file storage: its `_storage`, its upload URLs.
export const storeText = action({
  args: { text: v.string() },
  handler: async (ctx, { text }) => {
    const id = await ctx.storage.store(new Blob([text], { type: "text/plain" }));
    return { id, url: await ctx.storage.getUrl(id) };
  },
});

export const url = query({
  args: { id: v.id("_storage") },
  handler: async (ctx, { id }) => await ctx.storage.getUrl(id),
});

export const remove = mutation({
  args: { id: v.id("_storage") },
  handler: async (ctx, { id }) => {
    await ctx.storage.delete(id);
  },
});

export const uploadUrl = mutation({
  args: {},
  handler: async (ctx) => await ctx.storage.generateUploadUrl(),
});
