import { ConvexError, v } from "convex/values";
import { api } from "./_generated/api";
import { action } from "./_generated/server";

export const echo = action({
  args: { value: v.any() },
  handler: async (_ctx, { value }) => {
    console.log("echoing");
    return value;
  },
});

export const sendVia = action({
  args: { body: v.string() },
  handler: async (ctx, { body }) => await ctx.runMutation(api.messages.send, { body }),
});

export const fail = action({
  args: {},
  handler: async () => {
    throw new ConvexError({ why: "because" });
  },
});
