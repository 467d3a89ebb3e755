import FuzzSupport

// The fuzz target for config: see FuzzBodies and scripts/fuzz.sh.
runFuzzTarget(FuzzBodies.config)
