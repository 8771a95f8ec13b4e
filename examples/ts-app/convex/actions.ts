import { v } from "convex/values";
import { api, internal } from "./_generated/api";
import { action } from "./_generated/server";

// An action reads and writes through queries and mutations, each its own transaction.
export const welcome = action({
  args: { channel: v.id("channels"), author: v.id("users") },
  handler: async (ctx, { channel, author }) => {
    const before = await ctx.runQuery(internal.channels.stats, { channel });
    const sent = await ctx.runMutation(api.messages.send, {
      channel,
      author,
      body: `welcome! (message ${before.messages + 1})`,
    });
    const after = await ctx.runQuery(internal.channels.stats, { channel });
    console.info("welcomed", sent.seq);
    return { seq: sent.seq, before: before.messages, after: after.messages };
  },
});
