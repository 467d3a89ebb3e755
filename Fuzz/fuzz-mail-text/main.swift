import FuzzSupport

// The fuzz target for mail-text: see FuzzBodies and scripts/fuzz.sh.
runFuzzTarget(FuzzBodies.mailText)
