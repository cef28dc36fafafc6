/**
 * src/course: what the course notebooks share, and nothing else imports (the library below never does).
 *   setup        courseSetup (dataset, model, LLM; environment variables override), courseModel, checkLlm, modelLabel
 *   data         the course dataset of notebook 1: corpus, generated questions, filters, review, splits, tables
 *   evaluation   notebooks 2-3: indexes, retrievers, fine-tuning with the course recipe, failure analysis, figures
 *   recipes      courseRecipe / recipeTable: the fine-tuning settings per model kind
 *   negatives    notebook 4: compareNegatives (in-batch vs random vs hard vs semi-hard negatives)
 *   rag          notebook 5: the saved fine-tuned model, the LangChain store, the answer options
 *   results      reports/results.json: metrics with 95% CIs per dataset, split, system and model
 *   environment  the environment report of notebook 0 (notebook 0 imports ./environment itself)
 * showTable / showPlot / showMarkdown are src/display's, here too so that one import serves a notebook.
 * Artefact reuse (artefacts.ts), the results file's helpers (results.ts) and the rest stay importable from
 * their files.
 *
 * In a notebook: `import * as nb from "./src/course/index"` (tslab resolves files, not folder indexes).
 */
export { showMarkdown, showPlot, showTable } from "../display/display";
export { checkLlm, courseModel, courseSetup, courseTable, modelLabel, type Course } from "./setup";
export {
  buildCourseData,
  corpusTable,
  costTable,
  courseCorpus,
  estimateGenerationCost,
  examplesTable,
  filterTable,
  generateCourseQuestions,
  leakTable,
  lengthFigure,
  loadCourseData,
  reviewRoundTrip,
  reviewTable,
  decisionsTable,
  splitTable,
  type CourseData,
} from "./data";
export {
  corpusEntries,
  courseIndex,
  courseRetrievers,
  evaluateAndRecord,
  failureCases,
  failureTraits,
  inBatchFigure,
  mostChanged,
  readTrainingHistory,
  sampleBatch,
  sideBySide,
  tripletFigure,
} from "./evaluation";
export { coursePlan, courseRecipe, fitRecipe, recipeTable } from "./recipes";
export {
  ablation,
  ablationNarration,
  ablationTable,
  recordChosen,
  settingsLesson,
  curveNarration,
  evaluateSetting,
  settingsNarration,
  settingsTable,
  type SettingEvaluation,
} from "./settings";
export {
  compareNegatives,
  negativesComparisonFigure,
  negativesComparisonTable,
  type NegativesComparison,
} from "./negatives-comparison";
export { courseAnswerOptions, courseReportPath, loadFineTuned, PROMPT_PASSAGES } from "./rag";
export { readResults, recordResult, resultsTable } from "./results";
export { seedRoiTable, settingVerdicts, verdictTable } from "./verdict";
export { filterExamplesTable, filterSummaryTable, negativesPlanTable, qrelsByText } from "./negatives-notes";
