// Attachments: uploads, and files as part of emails. The module's whole public surface.
export {
  type AttachmentLimits,
  deleteAttachment,
  getAttachment,
  getAttachmentContent,
  type IncomingFile,
  listAttachments,
  uploadAttachments,
} from "./attachments";
export {
  attachmentFinder,
  type CheckedInline,
  EmailAttachmentFields,
  type EmailAttachmentRef,
  linkEmailAttachments,
  loadEmailAttachments,
  type OutgoingAttachment,
  prepareEmailAttachments,
} from "./email-attachments";
export { pruneExpiredAttachments } from "./prune";
export { type Attachment, AttachmentSchema, UploadedAttachmentsSchema } from "./schemas";
export { UploadBuffers } from "./upload-buffers";
