import { v } from "convex/values";
import { api } from "./_generated/api";
import { action, mutation, query } from "./_generated/server";

export const add = mutation({
  args: { text: v.string(), kind: v.string(), vector: v.array(v.float64()) },
  handler: async (ctx, args) => ctx.db.insert("embeddings", args),
});

export const texts = query({
  args: { ids: v.array(v.id("embeddings")) },
  handler: async (ctx, { ids }) =>
    Promise.all(ids.map(async (id) => (await ctx.db.get(id))?.text ?? null)),
});

export const similar = action({
  args: {
    vector: v.array(v.float64()),
    limit: v.optional(v.number()),
    kinds: v.optional(v.array(v.string())),
  },
  handler: async (ctx, { vector, limit, kinds }) => {
    const results = await ctx.vectorSearch("embeddings", "by_vector", {
      vector,
      limit,
      filter:
        kinds === undefined
          ? undefined
          : (q) => q.or(...kinds.map((k) => q.eq("kind", k))),
    });
    const texts: (string | null)[] = await ctx.runQuery(api.embeddings.texts, {
      ids: results.map((r) => r._id),
    });
    return results.map((r, i) => ({ text: texts[i], score: r._score }));
  },
});

export const addAndFind = action({
  args: { text: v.string(), vector: v.array(v.float64()) },
  handler: async (ctx, { text, vector }) => {
    const id = await ctx.runMutation(api.embeddings.add, { text, kind: "new", vector });
    const results = await ctx.vectorSearch("embeddings", "by_vector", {
      vector,
      limit: 1,
      filter: (q) => q.eq("kind", "new"),
    });
    return results[0]._id === id;
  },
});
