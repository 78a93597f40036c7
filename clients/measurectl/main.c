/* main.c — placeholder entry; replaced by the client. */
#include <stdio.h>
int main(void) { return 0; }
