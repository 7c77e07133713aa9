/** The fail2ban planner over its table of cases (plan-cases.ts). */
import { describe } from 'vitest';
import { plannerCases } from '../../../test/planner-cases.js';
import { fail2banRecipe } from '../recipe.js';
import { FAIL2BAN_CASES } from './plan-cases.js';

describe('fail2ban plan, case by case', () => plannerCases(fail2banRecipe, FAIL2BAN_CASES));
