// libcurl's easy API. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call,
// so each argument type gets a small typed wrapper; bit-mask macros Swift does not import get constants.
#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*ch_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode ch_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ch_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ch_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ch_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ch_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/// CURLOPT_WRITEFUNCTION or CURLOPT_HEADERFUNCTION.
static inline CURLcode ch_setopt_datafunction(CURL *handle, CURLoption option, ch_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

typedef int (*ch_seek_callback)(void *context, curl_off_t offset, int origin);

/// CURLOPT_READFUNCTION (same shape as the data callbacks: fill `data` with at most size * count bytes).
static inline CURLcode ch_setopt_readfunction(CURL *handle, ch_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

/// CURLOPT_SEEKFUNCTION: rewind the request body, e.g. to send it again after an authentication leg.
static inline CURLcode ch_setopt_seekfunction(CURL *handle, ch_seek_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, callback);
}

static inline CURLcode ch_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static const long ch_auth_basic = (long)CURLAUTH_BASIC;
static const long ch_auth_digest = (long)CURLAUTH_DIGEST;
static const long ch_auth_ntlm = (long)CURLAUTH_NTLM;
static const long ch_auth_negotiate = (long)CURLAUTH_NEGOTIATE;
static const long ch_global_default = CURL_GLOBAL_DEFAULT;
static const long ch_http_version_1_1 = CURL_HTTP_VERSION_1_1;
static const size_t ch_readfunc_abort = CURL_READFUNC_ABORT;
static const int ch_seekfunc_ok = CURL_SEEKFUNC_OK;
static const int ch_seekfunc_fail = CURL_SEEKFUNC_FAIL;
static const int ch_seekfunc_cantseek = CURL_SEEKFUNC_CANTSEEK;

#endif
