"use node";
import WebSocket from "ws";
import { action } from "./_generated/server";

export const kind = action({ args: {}, handler: async () => typeof WebSocket });
