/* jsonparse.c: json-c tokeners kept for reuse (see jsonparse.h). */
#include "jsonparse.h"

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"

/* Enough for the requests parsing at one moment on a few cores; a taker
 * that finds none makes a new one, a giver that finds no room frees it. */
#define JSONPARSE_SLOTS 4

struct jsonparse_pool {
	int depth;
	struct json_tokener *slot[JSONPARSE_SLOTS];   /* NULL: empty; atomic */
};

static struct jsonparse_pool jsonparse_pools[] = {
	{ .depth = JSON_TOKENER_DEFAULT_DEPTH },
	{ .depth = JSONPARSE_DEEP },
};

static struct jsonparse_pool *jsonparse_pool_of(int depth)
{
	for (size_t i = 0; i < sizeof jsonparse_pools / sizeof jsonparse_pools[0]; i++)
		if (jsonparse_pools[i].depth == depth)
			return &jsonparse_pools[i];
	return NULL;
}

struct json_tokener *jsonparse_take(int depth)
{
	struct jsonparse_pool *pool = jsonparse_pool_of(depth);

	for (size_t i = 0; pool && i < JSONPARSE_SLOTS; i++) {
		/* whole pointers swapped: a slot is either empty or owns its tokener */
		struct json_tokener *tok = __atomic_exchange_n(&pool->slot[i], NULL, __ATOMIC_ACQUIRE);
		if (tok != NULL)
			return tok;
	}
	return xcheck(json_tokener_new_ex(depth));
}

void jsonparse_give(struct json_tokener *tok, int depth)
{
	struct jsonparse_pool *pool = jsonparse_pool_of(depth);

	if (tok == NULL)
		return;
	json_tokener_reset(tok);   /* frees what a failed parse left half built */
	for (size_t i = 0; pool && i < JSONPARSE_SLOTS; i++) {
		struct json_tokener *empty = NULL;
		if (__atomic_compare_exchange_n(&pool->slot[i], &empty, tok, false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return;
	}
	json_tokener_free(tok);
}

/* As json_tokener_parse_verbose() does it, with a tokener from the pool. */
struct json_object *jsonparse(const char *text)
{
	struct json_tokener *tok = jsonparse_take(JSON_TOKENER_DEFAULT_DEPTH);
	struct json_object *obj = json_tokener_parse_ex(tok, text, -1);

	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	jsonparse_give(tok, JSON_TOKENER_DEFAULT_DEPTH);
	return obj;
}
