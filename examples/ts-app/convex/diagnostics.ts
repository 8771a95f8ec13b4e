import { ConvexError, v } from "convex/values";
import { query } from "./_generated/server";

// Values cross the wire unchanged: int64, bytes, nested objects and arrays.
export const echo = query({
  args: { value: v.any() },
  handler: async (_ctx, { value }) => value,
});

export const whoami = query({
  args: {},
  handler: async (ctx) => {
    const identity = await ctx.auth.getUserIdentity();
    return identity === null ? null : identity.subject;
  },
});

export const setting = query({
  args: { name: v.string() },
  handler: async (_ctx, { name }) => process.env[name] ?? null,
});

export const fail = query({
  args: { convex: v.boolean() },
  handler: async (_ctx, { convex }) => {
    console.warn("about to fail");
    if (convex) throw new ConvexError({ code: "DELIBERATE", n: 1 });
    throw new Error("deliberate failure");
  },
});

// A runaway query: the time limit stops it, other calls go on being served.
export const spin = query({
  args: {},
  handler: async () => {
    // eslint-disable-next-line no-constant-condition
    while (true) {
      /* spin */
    }
  },
});
