// A page using convex/react the way apps do: useQuery, useMutation, usePaginatedQuery.
// Opened as index.html?url=<deployment url>; the test reads the DOM over CDP.
import { createRoot } from "react-dom/client";
import {
  ConvexProvider,
  ConvexReactClient,
  useMutation,
  usePaginatedQuery,
  useQuery,
} from "convex/react";
import { makeFunctionReference } from "convex/server";

const url = new URLSearchParams(window.location.search).get("url");
const client = new ConvexReactClient(url);
const list = makeFunctionReference("messages:list");
const send = makeFunctionReference("messages:send");
const page = makeFunctionReference("messages:page");

function App() {
  const messages = useQuery(list, {});
  const sendMessage = useMutation(send);
  const { results, status, loadMore } = usePaginatedQuery(page, {}, { initialNumItems: 2 });
  return (
    <main>
      <ul id="messages">
        {messages === undefined ? <li>loading</li> : messages.map((m, i) => <li key={i}>{m}</li>)}
      </ul>
      <button id="send" onClick={() => void sendMessage({ body: "sent from react" })}>
        send
      </button>
      <p id="ranks">{results.join(",")}</p>
      <p id="status">{status}</p>
      <button id="more" onClick={() => loadMore(10)}>
        more
      </button>
    </main>
  );
}

createRoot(document.getElementById("root")).render(
  <ConvexProvider client={client}>
    <App />
  </ConvexProvider>,
);
