#ifndef SAMBAT_CZLIB_SHIM_H
#define SAMBAT_CZLIB_SHIM_H
/* The sync layer packs a BATCH's ops with raw DEFLATE (docs/protocol.md, "Packed ops"). */
#include <zlib.h>
#endif
