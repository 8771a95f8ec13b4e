import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

export const add = mutation({
  args: { text: v.string() },
  returns: v.id("items"),
  handler: async (ctx, { text }) => {
    if (text === "") throw new Error("a note needs text");
    return await ctx.db.insert("items", { text });
  },
});

export const list = query({
  args: {},
  handler: async (ctx) => (await ctx.db.query("items").collect()).map((d) => d.text),
});

// What a component sees of a table the app has (and it does not): nothing.
export const peek = query({
  args: { table: v.string(), id: v.optional(v.string()) },
  handler: async (ctx, { table, id }) => {
    const rows = await ctx.db.query(table as any).collect();
    const got = id === undefined ? null : await ctx.db.get(id as any);
    return { rows: rows.length, got };
  },
});
