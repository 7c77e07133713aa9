/** The certificate planner over its table of cases (plan-cases.ts). */
import { describe } from 'vitest';
import { plannerCases } from '../../../test/planner-cases.js';
import { certificateRecipe } from '../recipe.js';
import { CERTIFICATE_CASES } from './plan-cases.js';

describe('certificate plan, case by case', () => plannerCases(certificateRecipe, CERTIFICATE_CASES));
