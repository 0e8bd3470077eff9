/* main.c -- command line entry point of the loophole sensor. */
#include <stdio.h>

int main(void)
{
    printf("loophole %s\n", LOOPHOLE_VERSION);
    return 0;
}
