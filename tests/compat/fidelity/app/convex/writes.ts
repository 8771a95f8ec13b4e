import { mutation, query } from "./_generated/server";
import { v } from "convex/values";

// Bayou defers a mutation's patch/replace/delete (they resolve at once and reach the
// server with the next batch). When one fails, these show the user code still sees the
// error where Convex throws it: at the awaited write.

/** Catches the failed patch of a deleted document, then writes on. */
export const catchFailedPatch = mutation({
  args: { tag: v.string() },
  handler: async (ctx, { tag }) => {
    const gone = await ctx.db.insert("notes", { body: `${tag}-gone` });
    await ctx.db.delete(gone);
    let caught = "";
    try {
      await ctx.db.patch(gone, { body: `${tag}-patched` });
    } catch (error) {
      caught = (error as Error).message;
    }
    await ctx.db.insert("notes", { body: `${tag}-after` });
    return caught;
  },
});

/** A patch that breaks the schema, not caught. */
export const badPatch = mutation({
  args: { tag: v.string() },
  handler: async (ctx, { tag }) => {
    const id = await ctx.db.insert("notes", { body: `${tag}-bad` });
    await ctx.db.patch(id, { body: 5 as unknown as string }); // the bad patch
    await ctx.db.insert("notes", { body: `${tag}-never` });
  },
});

/** Patches twice and reads its own writes back. */
export const patchAndRead = mutation({
  args: { tag: v.string() },
  handler: async (ctx, { tag }) => {
    const id = await ctx.db.insert("notes", { body: `${tag}-0`, n: 0 });
    await ctx.db.patch(id, { n: 1 });
    await ctx.db.replace(id, { body: `${tag}-1`, n: 2 });
    const doc = await ctx.db.get(id);
    return { body: doc?.body, n: doc?.n };
  },
});

export const countBody = query({
  args: { body: v.string() },
  handler: async (ctx, { body }) =>
    (await ctx.db.query("notes").withIndex("by_body", (q) => q.eq("body", body)).collect()).length,
});
