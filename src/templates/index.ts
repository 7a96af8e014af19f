// Templates: versioned Handlebars content. The module's whole public surface.
export { describeProblem, TemplateError } from "./engine";
export {
  CreateTemplateSchema,
  RenderTemplateSchema,
  StrictField,
  UpdateTemplateSchema,
  VariablesField,
  VersionField,
} from "./input";
export { MAX_RENDER_STEPS, MAX_REQUEST_RENDER_STEPS, RenderBudget } from "./render-budget";
export {
  type RenderedContent,
  RenderedTemplateSchema,
  type Template,
  TemplateListItemSchema,
  TemplateSchema,
  type TemplateVersion,
  TemplateVersionListItemSchema,
  TemplateVersionSchema,
} from "./schemas";
export { selectTemplateVersion, type TemplateVersionRow } from "./store";
export {
  createTemplate,
  deleteTemplate,
  getTemplate,
  getTemplateVersion,
  listTemplates,
  listTemplateVersions,
  renderTemplate,
  renderVersion,
  updateTemplate,
} from "./templates";
