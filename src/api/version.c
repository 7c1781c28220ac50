/* version.c: mockapi_version(), the library's answer to "which build is
 * this?": the header's MOCKAPI_VERSION compiled in, so a program built
 * against another header can compare the two. */
#include "mockapi.h"

const char *mockapi_version(void)
{
    return MOCKAPI_VERSION;
}
