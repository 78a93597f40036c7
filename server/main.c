/* main.c — placeholder entry; replaced by the daemon. */
#include <stdio.h>
int main(void) { return 0; }
