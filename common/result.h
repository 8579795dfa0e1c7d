/* result.h: the one result type returned by every fallible function in common/.
 *
 * Out of memory is not in here on purpose: allocation failures abort (see
 * alloc.h), so callers only ever handle conditions they can act on. */
#ifndef IMMORTAL_RESULT_H
#define IMMORTAL_RESULT_H

enum im_rc {
	IM_OK = 0,
	IM_EINVAL,   /* malformed input (config, JSON, protocol) */
	IM_ETOOBIG,  /* a hard size cap was reached */
	IM_EIO,      /* an operating-system call failed */
	IM_EGONE,    /* the client went away */
	IM_ESTOP,    /* a callback asked to stop */
	IM_EBUSY     /* a shared lock could not be had in time */
};

#endif
