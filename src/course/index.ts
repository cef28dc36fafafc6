/**
 * src/course: what the course notebooks share.
 *   display       showTable / showPlot / showMarkdown: tables and interactive plotly charts saved in the .ipynb
 *   environment   the environment report of notebook 0
 *   course        courseSetup (dataset, model, LLM; environment variables override), courseModel, checkLlm
 *   artefacts     reuseOrBuild: saved datasets / models / indexes reused when their inputs have not changed
 *   results       reports/results.json: metrics with 95% CIs per dataset, split, system and model; timings
 *
 * In a notebook: `import * as nb from "./src/course/index"` (tslab resolves files, not folder indexes).
 */
export {
  displayBundle,
  escapeHtml,
  inNotebook,
  plotBundle,
  plotlyLoaderBundle,
  showMarkdown,
  showPlot,
  showTable,
  tableBundle,
  type MimeBundle,
  type PlotlyFigure,
  type TableOptions,
} from "../display/display";
export {
  environmentReport,
  environmentTable,
  faissAvailable,
  measureMatMul,
  type EnvironmentRow,
  type MatMulTiming,
} from "./environment";
export {
  checkLlm,
  courseModel,
  readCourseConfigFile,
  courseSetup,
  courseTable,
  DEFAULT_DATASET,
  DOCUMENT_EXTENSIONS,
  modelLabel,
  resolveDataset,
  slug,
  type Course,
  type CourseChoices,
  type DatasetChoice,
  type LlmEndpoint,
  type SettingSource,
} from "./setup";
export {
  canonicalJson,
  filesKey,
  inputsKey,
  MANIFEST,
  readManifest,
  reuseOrBuild,
  reuseOrComputeJson,
  type Artefact,
  type ArtefactManifest,
  type ArtefactOptions,
} from "./artefacts";
export {
  COURSE_SYSTEMS,
  courseResultsMarkdown,
  defaultResultsPath,
  recordComparison,
  type ComparisonRow,
  formatInterval,
  readResults,
  recordResult,
  recordResults,
  recordTiming,
  resultRow,
  resultsMarkdown,
  resultsTable,
  RESULT_METRICS,
  TABLE_METRICS,
  updateResults,
  withLock,
  type RecordOptions,
  type ResultRow,
  type ResultsFile,
  type TimingRow,
} from "./results";
export {
  buildCourseData,
  corpusTable,
  costTable,
  courseCorpus,
  DEFAULT_PRICES,
  documentSplit,
  estimateGenerationCost,
  examplesTable,
  filterTable,
  generateCourseQuestions,
  lengthFigure,
  loadCourseData,
  reviewRoundTrip,
  reviewTable,
  splitTable,
  type CostEstimate,
  type CourseCorpus,
  type CourseData,
  type CourseDataInfo,
  type GenerationResult,
  type ReviewRoundTrip,
} from "./data";
export {
  corpusEntries,
  courseIndex,
  courseRetrievers,
  evaluateAndRecord,
  failureCases,
  failureTraits,
  fineTune,
  inBatchFigure,
  mostChanged,
  queryTraits,
  readTrainingHistory,
  sampleBatch,
  sideBySide,
  tripletFigure,
  tunedRetrievers,
  type CourseSystem,
  type FineTuned,
} from "./evaluation";
export {
  courseAnswerOptions,
  courseFaissStore,
  courseReportPath,
  loadFineTuned,
  type SavedFineTune,
} from "./rag";
export {
  courseRecipe,
  defaultLearningRate,
  OFFLINE_FINETUNE_RECIPE,
  recipeTable,
  type FineTuneRecipe,
  type OfflineFinetuneRecipe,
} from "./recipes";
export {
  compareNegatives,
  describeNegativesComparison,
  NEGATIVE_CONDITIONS,
  negativesComparisonFigure,
  negativesComparisonTable,
  type ConditionRun,
  type MiningSummary,
  type NegativeCondition,
  type NegativesComparison,
  type NegativesComparisonOptions,
} from "./negatives-comparison";
