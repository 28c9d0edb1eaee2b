/**
 * The steps' one exit for errors: whatever a step meets becomes an {@link UpscaleError} in that step.
 * (Media errors are UpscaleErrors with their own code and kind, see worker/media/errors.ts.)
 */
import { inStep, type UpscaleError } from '../errors.ts';

/** `error` as an UpscaleError in `step`. */
export function stepError(error: unknown, step: string): UpscaleError {
  return inStep(error, step);
}
