/*
 * version.c - the library's version, for programs that load libwim.so at run
 * time and want to know which one they got (wim.h's WIM_VERSION_STRING is the
 * header's they were built against).
 */
#include "wim.h"

const char *wim_version(void)
{
    return WIM_VERSION_STRING;
}
