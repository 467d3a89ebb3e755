import FuzzSupport

// The fuzz target for appointments as MIME and iCalendar: see FuzzBodies and scripts/fuzz.sh.
runFuzzTarget(FuzzBodies.icalendar)
