import { v } from "convex/values";
import { mutation, query } from "./_generated/server";

const VALUES: [string, any][] = [
  ["int64", 1234567890123n],
  ["negative int64", -5n],
  ["float", 1.5],
  ["whole float", 2],
  ["nan", NaN],
  ["infinity", Infinity],
  ["negative zero", -0],
  ["bytes", new Uint8Array([0, 1, 2, 255]).buffer],
  ["string", "héllo \"quoted\"\nline"],
  ["bool", true],
  ["null", null],
  ["array", [1n, 2.5, "x", [null, false]]],
  ["object", { a: { b: { c: 1n, d: 0.25 } }, list: [{ x: 1 }] }],
];

export const seed = mutation({
  args: {},
  handler: async (ctx) => {
    const ids = [];
    for (const [kind, value] of VALUES) {
      ids.push(await ctx.db.insert("values", { kind, value }));
    }
    await ctx.db.insert("refs", { target: ids[0] });
    for (let n = 0; n < 5; n++) {
      await ctx.db.insert("strict", { n });
    }
  },
});

export const addStrict = mutation({
  args: { n: v.number() },
  handler: async (ctx, { n }) => await ctx.db.insert("strict", { n }),
});

export const dump = query({
  args: {},
  handler: async (ctx) => ({
    values: await ctx.db.query("values").collect(),
    refs: await ctx.db.query("refs").collect(),
    strict: await ctx.db.query("strict").withIndex("by_n").collect(),
    files: await ctx.db.system.query("_storage").collect(),
  }),
});

export const generateUploadUrl = mutation({
  args: {},
  handler: async (ctx) => await ctx.storage.generateUploadUrl(),
});

export const attach = mutation({
  args: { file: v.id("_storage") },
  handler: async (ctx, { file }) => {
    const target = (await ctx.db.query("values").first())!._id;
    return await ctx.db.insert("refs", { target, file });
  },
});

export const fileUrl = query({
  args: { file: v.id("_storage") },
  handler: async (ctx, { file }) => await ctx.storage.getUrl(file),
});
