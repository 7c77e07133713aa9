/** The upstreams planner over its table of cases (plan-cases.ts). */
import { describe } from 'vitest';
import { plannerCases } from '../../../test/planner-cases.js';
import { upstreamsRecipe } from '../recipe.js';
import { UPSTREAMS_CASES } from './plan-cases.js';

describe('upstreams plan, case by case', () => plannerCases(upstreamsRecipe, UPSTREAMS_CASES));
