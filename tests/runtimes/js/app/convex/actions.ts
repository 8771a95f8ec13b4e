import { ConvexError, v } from "convex/values";
import { action } from "./_generated/server";
import { api, internal } from "./_generated/api";

export const roundTrip = action({
  args: { url: v.string(), author: v.string() },
  handler: async (ctx, { url, author }) => {
    const response = await fetch(url);
    const body = await response.text();
    const id = await ctx.runMutation(api.messages.send, { author, body });
    const found = await ctx.runQuery(api.messages.byAuthor, { author });
    const removed = await ctx.runMutation(internal.messages.resetAll, {});
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { id, count: found.length, removed, body, random: typeof Math.random() };
  },
});

export const sleepy = action({
  args: { ms: v.number() },
  handler: async (_ctx, { ms }) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  },
});

export const nested = action({
  args: { n: v.number() },
  handler: async (ctx, { n }) => {
    const results = await Promise.all(
      Array.from({ length: n }, () => ctx.runQuery(api.misc.noop, {})),
    );
    return results.length;
  },
});

export const tagged = action({
  args: { tag: v.string(), ms: v.number() },
  handler: async (_ctx, { tag, ms }) => {
    console.log("start", tag);
    await new Promise((resolve) => setTimeout(resolve, ms));
    await fetch("data:text/plain,x").catch(() => null);
    console.log("end", tag, process.env.GREETING);
    return tag;
  },
});

export const catchesConvexError = action({
  args: {},
  handler: async (ctx) => {
    try {
      await ctx.runQuery(api.misc.failsWithData, {});
      return null;
    } catch (error) {
      return { isConvexError: error instanceof ConvexError, data: (error as ConvexError<any>).data };
    }
  },
});
