"""Files: uploads, serving, the storage fingerprint and the blob collector, over a blob
store (`bayou.blobs`) and the `_storage` table (`bayou.model.file_storage`).
`bayou.files.service.FileStorage` is what the backend owns."""
