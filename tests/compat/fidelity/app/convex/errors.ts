import { makeFunctionReference } from "convex/server";
import { ConvexError, v } from "convex/values";
import { api, internal } from "./_generated/api";
import { action, internalMutation, mutation, query } from "./_generated/server";

export const boom = query({
  args: {},
  handler: async () => {
    throw new Error("boom");
  },
});

export const convexBoom = query({
  args: {},
  handler: async () => {
    throw new ConvexError({ code: 42, big: 123n });
  },
});

export const anonymousBoom = query({
  args: {},
  handler: async () => {
    [1].forEach(() => {
      throw new Error("anon");
    });
  },
});

export const callBoom = action({
  args: {},
  handler: async (ctx) => {
    await ctx.runQuery(api.errors.boom);
  },
});

export const callConvexBoom = action({
  args: {},
  handler: async (ctx) => {
    await ctx.runQuery(api.errors.convexBoom);
  },
});

function describe(e: any) {
  return {
    isConvexError: e instanceof ConvexError,
    message: e.message,
    data: e instanceof ConvexError ? e.data : null,
  };
}

export const catchBoom = action({
  args: { which: v.string() },
  handler: async (ctx, { which }) => {
    try {
      if (which === "query") await ctx.runQuery(api.errors.boom);
      if (which === "convexQuery") await ctx.runQuery(api.errors.convexBoom);
      if (which === "mutation") await ctx.runMutation(internal.errors.failing);
      if (which === "action") await ctx.runAction(api.errors.callBoom);
      if (which === "missing") await ctx.runQuery(makeFunctionReference<"query">("nope:nope"));
    } catch (e: any) {
      return describe(e);
    }
    return null;
  },
});

export const failing = internalMutation({
  args: {},
  handler: async (ctx) => {
    await ctx.db.insert("notes", { body: "rolled back" });
    throw new Error("mutation boom");
  },
});

export const catchInMutation = mutation({
  args: { which: v.string() },
  handler: async (ctx, { which }) => {
    try {
      if (which === "mutation") await ctx.runMutation(internal.errors.failing);
      if (which === "convexQuery") await ctx.runQuery(api.errors.convexBoom);
      if (which === "missing") await ctx.runQuery(makeFunctionReference<"query">("nope:nope"));
    } catch (e: any) {
      return describe(e);
    }
    return null;
  },
});

export const staged = query({
  args: {},
  handler: async (ctx) => await ctx.db.query("notes").withIndex("by_n" as any).collect(),
});
