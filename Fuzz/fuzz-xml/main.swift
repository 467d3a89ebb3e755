import FuzzSupport

// The fuzz target for xml: see FuzzBodies and scripts/fuzz.sh.
runFuzzTarget(FuzzBodies.xml)
