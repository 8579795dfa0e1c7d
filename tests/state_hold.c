/* state_hold.c: a hostile neighbour for the tests: takes the lock of the
 * shared state file of a config folder and holds it until killed.
 *
 * usage: state_hold CONFIG_DIR STATE_DIR READY_FILE
 * READY_FILE is created once the lock is held. Includes the module to
 * reach its lock, as a process of the same user could. */
#include "../common/hoststate.c"

int main(int argc, char **argv)
{
	struct hoststate *hs;
	char why[512];

	if (argc != 4) {
		fprintf(stderr, "usage: state_hold CONFIG_DIR STATE_DIR READY_FILE\n");
		return 2;
	}
	if (hoststate_open(argv[1], argv[2], &hs, why, sizeof why) != IM_OK) {
		fprintf(stderr, "state_hold: %s\n", why);
		return 1;
	}
	if (hoststate_lock(hs) != IM_OK) {
		fprintf(stderr, "state_hold: the lock is held already\n");
		return 1;
	}
	FILE *ready = fopen(argv[3], "w");
	if (ready == NULL)
		return 1;
	fprintf(ready, "%s\n", hoststate_path(hs));
	fclose(ready);
	for (;;)
		pause();
}
