/** The turn-nat planner over its table of cases (plan-cases.ts). */
import { describe } from 'vitest';
import { plannerCases } from '../../../test/planner-cases.js';
import { turnNatRecipe } from '../nat.js';
import { TURN_NAT_CASES } from './plan-cases.js';

describe('turn-nat plan, case by case', () => plannerCases(turnNatRecipe, TURN_NAT_CASES));
