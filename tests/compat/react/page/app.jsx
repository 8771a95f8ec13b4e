// A page using convex/react the way apps do: useQuery, useMutation, usePaginatedQuery, and
// a file upload. Opened as index.html?url=<deployment url> (tests/compat/app) and/or
// ?files=<deployment url> (examples/ts-app); the test reads the DOM over CDP.
import { createRoot } from "react-dom/client";
import {
  ConvexProvider,
  ConvexReactClient,
  useMutation,
  usePaginatedQuery,
  useQuery,
} from "convex/react";
import { makeFunctionReference } from "convex/server";

const params = new URLSearchParams(window.location.search);
const url = params.get("url");
const filesUrl = params.get("files");
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

// File storage as the Convex docs show it (examples/ts-app/convex/files.ts): an upload URL
// from a mutation, the file POSTed with fetch, its id saved in a document, and the file
// read back through the URL `getUrl` gives.
const listFiles = makeFunctionReference("files:list");
const generateUploadUrl = makeFunctionReference("files:generateUploadUrl");
const saveFile = makeFunctionReference("files:save");

function Files() {
  const files = useQuery(listFiles, {});
  const newUploadUrl = useMutation(generateUploadUrl);
  const save = useMutation(saveFile);
  async function uploadFile() {
    const file = new File(["uploaded from the browser"], "browser.txt", { type: "text/plain" });
    const postUrl = await newUploadUrl();
    const result = await fetch(postUrl, {
      method: "POST",
      headers: { "Content-Type": file.type },
      body: file,
    });
    const { storageId } = await result.json();
    await save({ storageId, name: file.name });
  }
  async function readBack(fileUrl) {
    const response = await fetch(fileUrl);
    document.getElementById("file-text").innerText = await response.text();
  }
  return (
    <section>
      <button id="upload" onClick={() => void uploadFile()}>
        upload
      </button>
      <ul id="files">
        {files === undefined ? (
          <li>loading</li>
        ) : (
          files.map((f) => (
            <li key={f.id} onClick={() => void readBack(f.url)}>
              {`${f.name}:${f.size}:${f.contentType}`}
            </li>
          ))
        )}
      </ul>
      <p id="file-text"></p>
    </section>
  );
}

const root = [];
if (url) {
  root.push(
    <ConvexProvider key="app" client={new ConvexReactClient(url)}>
      <App />
    </ConvexProvider>,
  );
}
if (filesUrl) {
  root.push(
    <ConvexProvider key="files" client={new ConvexReactClient(filesUrl)}>
      <Files />
    </ConvexProvider>,
  );
}
createRoot(document.getElementById("root")).render(root);
