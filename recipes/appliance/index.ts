/**
 * The appliance itself: no recipe, but the facts every run reads (identity, generation, the
 * managed files) and the first part of what `rpctl facts` prints.
 */
import { defineConcern } from '../../src/engine/contract.js';
import { describeAppliance, reportFactSpec } from './describe.js';

export const applianceConcern = defineConcern({
  name: 'appliance',
  recipes: [],
  sections: [],
  facts: reportFactSpec,
  describeFacts: describeAppliance,
});
