import { v } from "convex/values";
import { api } from "./_generated/api";
import { action, mutation, query } from "./_generated/server";

// File storage. A client uploads in three steps: generateUploadUrl, POST the bytes to the
// URL (it answers {storageId}), then save the id in a document.
export const generateUploadUrl = mutation({
  args: {},
  handler: async (ctx) => await ctx.storage.generateUploadUrl(),
});

export const save = mutation({
  args: { storageId: v.id("_storage"), name: v.string() },
  handler: async (ctx, { storageId, name }) => await ctx.db.insert("files", { storageId, name }),
});

// Every file with its URL and its `_storage` metadata (a reactive query: a deleted file
// leaves the list).
export const list = query({
  args: {},
  handler: async (ctx) => {
    const files = await ctx.db.query("files").collect();
    return await Promise.all(
      files.map(async (file) => {
        const stored = await ctx.db.system.get(file.storageId);
        return {
          id: file._id,
          name: file.name,
          storageId: file.storageId,
          url: await ctx.storage.getUrl(file.storageId),
          size: stored?.size ?? null,
          contentType: stored?.contentType ?? null,
          sha256: stored?.sha256 ?? null,
        };
      }),
    );
  },
});

export const url = query({
  args: { storageId: v.string() },
  handler: async (ctx, { storageId }) => await ctx.storage.getUrl(storageId),
});

export const metadata = query({
  args: { storageId: v.id("_storage") },
  handler: async (ctx, { storageId }) => await ctx.storage.getMetadata(storageId),
});

// Deleting the document and its file in one transaction: the blob goes once it commits.
export const remove = mutation({
  args: { id: v.id("files") },
  handler: async (ctx, { id }) => {
    const file = await ctx.db.get(id);
    if (file === null) return false;
    await ctx.storage.delete(file.storageId);
    await ctx.db.delete(id);
    return true;
  },
});

// Files from an action: store a Blob, read one back.
export const storeText = action({
  args: { text: v.string(), name: v.string() },
  handler: async (ctx, { text, name }) => {
    const storageId = await ctx.storage.store(new Blob([text], { type: "text/plain" }));
    await ctx.runMutation(api.files.save, { storageId, name });
    return storageId;
  },
});

export const readText = action({
  args: { storageId: v.id("_storage") },
  handler: async (ctx, { storageId }) => {
    const blob = await ctx.storage.get(storageId);
    return blob === null ? null : { text: await blob.text(), type: blob.type };
  },
});
