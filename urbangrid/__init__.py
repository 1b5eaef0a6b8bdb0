"""urbangrid: grid-based comprehensive urban supervision platform."""
