/**
 * src/course: what the course notebooks share, and nothing else imports (the library below never does). A notebook
 * cell shows the library's own calls (train, the losses, InformationRetrievalEvaluator, the retrievers, chunkFolder,
 * filterPairs, splitByDocument); what stays here is what a cell should not show: setup, artefact reuse, results.json,
 * the course recipes, the course's tables and figures. Functions return numbers and verdicts; the notebooks'
 * markdown says what they mean.
 *   setup        courseSetup (dataset, model, LLM; environment variables override), courseModel, checkLlm, modelLabel
 *   data         the course dataset of notebook 1 and the two settings of notebooks 3-4; generation, review beside it
 *   evaluation   indexes, the systems compared, fine-tuning with the course recipe (fineTune), the course's figures
 *   failures     notebook 2's failure analysis
 *   recipes      courseRecipe / fitRecipe / coursePlan: the fine-tuning settings per model kind
 *   settings     notebook 3: the training-data ablation, both settings side by side (with verdict columns)
 *   negatives    notebook 4: compareNegatives (in-batch vs random vs hard vs semi-hard negatives)
 *   rag          notebook 5: the saved fine-tuned model, the LangChain store, the answer options
 *   results      reports/results.json: metrics with 95% CIs per dataset, split, system and model; facts (recordFact)
 *   environment  the environment report of notebook 0 (notebook 0 imports ./environment itself)
 * showTable / showPlot / showMarkdown are src/display's, here too so that one import serves a notebook.
 *
 * In a notebook: `import * as nb from "./src/course/index"` (tslab resolves files, not folder indexes).
 */
export { showMarkdown, showPlot, showTable } from "../display/display";
export { checkLlm, courseModel, courseSetup, courseTable, modelLabel, type Course } from "./setup";
export {
  buildCourseData,
  corpusTable,
  courseCorpus,
  leakTable,
  lengthFigure,
  loadCourseData,
  type CourseData,
} from "./data";
export { estimateGenerationCost, generateCourseQuestions } from "./generation";
export { reviewRoundTrip } from "./review";
export { corpusEntries, courseIndex, inBatchFigure, sampleBatch, sideBySide, tripletFigure } from "./evaluation";
export { failureCases, failureTraits } from "./failures";
export { coursePlan, courseRecipe, fitRecipe } from "./recipes";
export { ablation, ablationTable, evaluateSetting, settingsTable, trainingFolder } from "./settings";
export {
  compareNegatives,
  negativesComparisonFigure,
  negativesComparisonTable,
  type NegativesComparison,
} from "./negatives-comparison";
export { courseAnswerOptions, courseReportPath, loadFineTuned, PROMPT_PASSAGES } from "./rag";
export { readResults, recordFact, recordResult } from "./results";
export { seedRoiTable, settingVerdicts, verdictTable } from "./verdict";
export { filterExamplesTable, filterSummaryTable, negativesPlanTable, qrelsByText } from "./negatives-notes";
