// Artefact reuse lives in src/artefacts.ts (the app reads manifests too); rag.ts imports it from here.
export { readManifest, reuseOrBuild, type Artefact, type ArtefactManifest } from "../artefacts";
