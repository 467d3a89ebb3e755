// libxml2: the SAX2 push parser and XML Schema validation.
#include <libxml/xmlversion.h>
// With Foundation in the same program, libxml2's ICU types clash with Foundation's.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>
